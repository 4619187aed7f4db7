import CNI
import JSON
import System

/// A container's attachments as libcni cached them: `<cacheDir>/results/<network>-<id>-<ifname>`,
/// JSON `{"kind":"cniCacheV1","containerId","ifName","networkName",...,"result":{...}}`.
public struct CachedAttachment: Sendable, Equatable {
    public var networkName: String
    public var containerID: String
    public var ifName: String
    public var result: CNIResult

    /// Interfaces of the result that live in the container (those with a `sandbox`).
    public var sandboxInterfaces: [CNIResult.Interface] {
        result.interfaces.filter { !($0.sandbox ?? "").isEmpty }
    }
}

public enum ResultCache {
    /// The same over several caches (the defaults): the first that has the container wins; a
    /// cache without a results directory is skipped. One directory behaves exactly like the above.
    public static func attachments(containerID: String, network: String?, cacheDirs: [String],
                                   exists: (String) -> Bool) throws(InspectError) -> [CachedAttachment] {
        if cacheDirs.count == 1 { return try attachments(containerID: containerID, network: network, cacheDir: cacheDirs[0]) }
        for dir in cacheDirs where exists(dir + "/results") {
            do { return try attachments(containerID: containerID, network: network, cacheDir: dir) } catch .cache(let m)
                where m.hasPrefix("no CNI result cached") { continue }
        }
        let on = network.map { " on network \($0)" } ?? ""
        let searched = cacheDirs.map { $0 + "/results" }.joined(separator: ", ")
        throw .cache("no CNI result cached for container \(containerID)\(on) in \(searched) (give --cache-dir DIR)")
    }

    /// Every cached attachment of `containerID` (on `network` if given), sorted by file name.
    /// A file that is unreadable or not a cniCacheV1 document for this container is an error
    /// only if it could belong to the container (its name contains `-<containerID>-`).
    public static func attachments(containerID: String, network: String?, cacheDir: String)
        throws(InspectError) -> [CachedAttachment]
    {
        let dir = cacheDir + "/results"
        let names: [String]
        do { names = try FS.listDirectory(dir) } catch {
            throw .cache("read CNI result cache: \(error)")
        }
        var found: [CachedAttachment] = []
        for name in names.sorted() where name.contains("-\(containerID)-") {
            if let network, !name.hasPrefix("\(network)-\(containerID)-") { continue }
            let path = dir + "/" + name
            let bytes: [UInt8]
            do { bytes = try FS.readFile(path, limit: 4 << 20) } catch {
                throw .cache("read CNI result cache: \(error)")
            }
            guard let attachment = try decode(bytes, path: path) else { continue }
            guard attachment.containerID == containerID else { continue }
            if let network, attachment.networkName != network { continue }
            found.append(attachment)
        }
        if found.isEmpty {
            let on = network.map { " on network \($0)" } ?? ""
            throw .cache("no CNI result cached for container \(containerID)\(on) in \(dir)")
        }
        return found
    }

    /// Decodes one cache file; nil for a file of another kind.
    static func decode(_ bytes: [UInt8], path: String) throws(InspectError) -> CachedAttachment? {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw .cache("\(path): not JSON: \(error)") }
        guard json["kind"]?.stringValue == "cniCacheV1" else { return nil }
        guard let resultJSON = json["result"], resultJSON.objectValue != nil else {
            throw .cache("\(path): cached attachment has no result")
        }
        let result: CNIResult
        do { result = try CNIResult.parse(resultJSON) } catch { throw .cache("\(path): bad cached result: \(error)") }
        return CachedAttachment(networkName: json["networkName"]?.stringValue ?? "",
                                containerID: json["containerId"]?.stringValue ?? "",
                                ifName: json["ifName"]?.stringValue ?? "", result: result)
    }

    /// The one namespace and the interface names inside it that the attachments describe.
    public static func sandbox(of attachments: [CachedAttachment], containerID: String)
        throws(InspectError) -> (netns: String, interfaces: [String])
    {
        var netns: [String] = []
        var interfaces: [String] = []
        for iface in attachments.flatMap(\.sandboxInterfaces) {
            if let s = iface.sandbox, !netns.contains(s) { netns.append(s) }
            if !interfaces.contains(iface.name) { interfaces.append(iface.name) }
        }
        guard let path = netns.first else {
            throw .cache("cached result of container \(containerID) has no interface with a sandbox")
        }
        guard netns.count == 1 else {
            throw .cache("container \(containerID) has interfaces in several namespaces: \(netns.joined(separator: ", "))")
        }
        return (path, interfaces)
    }
}
