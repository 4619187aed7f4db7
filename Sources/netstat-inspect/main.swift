import NetstatInspect

NetstatInspect.main()
