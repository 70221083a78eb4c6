/**
 * GitHub's published SSH host keys, pinned so Flux never trusts a key it
 * first sees on the wire. Override with `knownHosts` for GitHub Enterprise or
 * another Git host.
 */
export const GITHUB_KNOWN_HOSTS = [
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
].join("\n") + "\n";
