/**
 * Shell functions for root scripts that write or remove in directories the container's user may
 * have reached first (/dev/shm and a `--tmpfs` are world-writable): nothing is followed through a
 * link, nothing is emptied across a mount, and a file is only ever renamed over a non-directory.
 * POSIX sh (dash, bash, busybox ash); external commands come from the fixed PATH.
 */
export const SAFE_FS_FUNCTIONS = `# has_mount DIR: is a filesystem mounted at or below DIR (say a bind of a host directory)?
has_mount() {
  while read -r _ m _; do case $m in "$1" | "$1"/*) return 0 ;; esac; done < /proc/mounts
  return 1
}
# is_root_dir MODE: is the current directory root's with exactly MODE (as \`ls -l\` shows it)?
is_root_dir() {
  set -- "$1" $(ls -ldn . 2>/dev/null)
  [ "$4" = 0 ] && case $2 in "$1" | "$1".) true ;; *) false ;; esac
}
# purge: empties the current directory. Each directory becomes root's and 0700 before it is
# listed, so no other user can swap an entry for a link while it is emptied, and links are
# removed, never followed.
purge() {
  chown -h 0:0 . && chmod 700 . || return 1
  for e in * .[!.]* ..?*; do
    if [ -d "$e" ] && [ ! -L "$e" ]; then
      (cd -P "./$e" && purge) && rmdir "./$e" || return 1
    elif [ -e "$e" ] || [ -L "$e" ]; then
      rm -f "./$e" || return 1
    fi
  done
}
# remove PATH [KEEP]: removes a link, file or directory tree at PATH, in a parent others may
# write; with KEEP, a directory of root's with mode KEEP stays (a concurrent push may have just
# made it). cd -P resolves a link swapped in after the test, and then PWD is not PATH.
remove() {
  if [ -d "$1" ] && [ ! -L "$1" ]; then
    (
      cd -P "$1" && [ "$PWD" = "$1" ] || exit 1
      [ -z "$2" ] || ! is_root_dir "$2" || exit 3
      purge
    )
    case $? in 0) rmdir "$1" ;; 3) return 0 ;; *) return 1 ;; esac
  elif [ -e "$1" ] || [ -L "$1" ]; then
    rm -f "$1"
  fi
}
# put TMP NAME: renames TMP over NAME in the current directory, which only root can write. mv -T
# replaces a link at NAME rather than moving TMP into the directory it names, and refuses a
# directory. An mv that refuses a link to a directory too, or lacks -T (busybox), gets the link
# removed first: only root can plant it again in between, and root in the container can already
# write wherever a link it plants could point.
put() {
  mv -fT "$1" "$2" 2>/dev/null && return 0
  if [ -L "$2" ]; then
    rm -f "$2" || return 1
  elif [ -e "$2" ] && [ ! -f "$2" ]; then
    return 1
  fi
  mv -f "$1" "$2"
}`;
