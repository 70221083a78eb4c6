/**
 * SSH public-key handling for the GitHub double: parsing and normalising keys
 * the way GitHub stores them, and rendering the sshd authorized_keys file that
 * turns deploy keys into real, repository-scoped git access.
 */

/** Key algorithms GitHub accepts for deploy keys (ssh-dss is long gone). */
const ACCEPTED_KEY_TYPES: readonly string[] = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/** Result of {@link normalizePublicKey}: either the canonical key or why it was rejected. */
type NormalizedKey = { ok: true; key: string; type: string } | { ok: false; reason: string };

/**
 * Reduces an OpenSSH public key line to `<type> <base64>`, as GitHub stores and
 * returns it (the comment is dropped). The base64 blob is checked to really
 * encode a key of the announced type, so garbage is rejected like GitHub does
 * rather than surfacing later as an sshd parse error.
 */
export function normalizePublicKey(input: string): NormalizedKey {
  const fields = input.trim().split(/\s+/);
  const [type, blob] = fields;
  if (type === undefined || blob === undefined || type === '') {
    return { ok: false, reason: 'key must be in OpenSSH public key format ("<type> <base64> [comment]")' };
  }
  if (!ACCEPTED_KEY_TYPES.includes(type)) {
    return { ok: false, reason: `key is invalid. It must begin with one of: ${ACCEPTED_KEY_TYPES.join(', ')}` };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) {
    return { ok: false, reason: 'key is invalid: the key data is not base64' };
  }
  const embedded = embeddedKeyType(Buffer.from(blob, 'base64'));
  if (embedded !== type) {
    return { ok: false, reason: `key is invalid: key data is for "${embedded ?? 'nothing'}", not "${type}"` };
  }
  return { ok: true, key: `${type} ${blob}`, type };
}

/** Reads the SSH wire-format string that opens every public key blob (its algorithm name). */
function embeddedKeyType(raw: Buffer): string | undefined {
  if (raw.length < 4) return undefined;
  const len = raw.readUInt32BE(0);
  if (len === 0 || len > 64 || raw.length < 4 + len) return undefined;
  return raw.subarray(4, 4 + len).toString('latin1');
}

/** One authorised identity: which key may reach which repository, and how. */
interface KeyGrant {
  key: string;
  owner: string;
  repo: string;
  readOnly: boolean;
}

/**
 * Renders authorized_keys content. Every line pins its key to a forced
 * command, so whatever the client asks for, sshd only ever runs the gate
 * script with the grant baked in; the client's request reaches the script
 * only through SSH_ORIGINAL_COMMAND.
 */
export function renderAuthorizedKeys(grants: readonly KeyGrant[], gateScript: string, reposRoot: string): string {
  const lines = grants.map((g) => {
    const command = [gateScript, reposRoot, `${g.owner}/${g.repo}`, g.readOnly ? 'ro' : 'rw'].join(' ');
    const options = [
      `command="${command}"`,
      'no-pty',
      'no-port-forwarding',
      'no-agent-forwarding',
      'no-X11-forwarding',
      'no-user-rc',
    ].join(',');
    return `${options} ${g.key}`;
  });
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
