# bash completion for rootless-netns, netstat-inspect and cnitool (installed by scripts/install).
_rcni_complete() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; cword=$COMP_CWORD; }
  local cmd="${COMP_WORDS[0]##*/}"
  case "$prev" in
    --state-dir|--cache-dir|--netconfpath|--netns|--host-netns) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --conflist) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --format) COMPREPLY=($(compgen -W "json table" -- "$cur")); return ;;
    --user) COMPREPLY=($(compgen -u -- "$cur")); return ;;
  esac
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [ "${COMP_WORDS[i]}" = "--" ]; then COMPREPLY=($(compgen -c -- "$cur")); return; fi
  done
  case "$cmd" in
    rootless-netns)
      if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "status enter cleanup --help --version" -- "$cur"))
      else COMPREPLY=($(compgen -W "--state-dir --help --" -- "$cur")); fi ;;
    netstat-inspect)
      if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=($(compgen -W "inspect stats --help" -- "$cur"))
      else COMPREPLY=($(compgen -W "--netns --container --network --cache-dir --interface --format" -- "$cur")); fi ;;
    cnitool)
      COMPREPLY=($(compgen -W "add check del gc status version netns session --conflist --container-id --ifname
        --args --cap-args --cni-path --netconfpath --cache-dir --valid-attachments --timeout --host-netns
        --rootless --user --verbose --help --version start stop exec list path" -- "$cur")) ;;
  esac
}
complete -F _rcni_complete rootless-netns netstat-inspect cnitool
