/**
 * The GitHub double's public shapes: its start options, the handle a test
 * holds, and what that handle reports (requests, deploy keys). No code.
 */

/** Options for {@link startGitHubDouble} (server.ts). */
export interface GitHubDoubleOptions {
  /** Directory holding everything (bare repos, state.json, sshd files); created if missing. Must be an absolute-safe path of `[A-Za-z0-9._/-]`. */
  dataDir: string;
  /** The one token the API accepts, as `Authorization: Bearer <token>` or `token <token>`. */
  token: string;
  /** HTTP port on 127.0.0.1; 0 or omitted picks a free one. */
  port?: number;
  /** SSH port on 127.0.0.1; 0 or omitted picks a free one. */
  sshPort?: number;
  /** The organization (GET /orgs/{owner} answers 200 for it); default "acme". */
  owner?: string;
  /** Login of the user the token belongs to (GET /user); default "flux-bot". */
  login?: string;
  /** Run the private sshd; default true. With false only the HTTP API runs. */
  ssh?: boolean;
  /** OS account SSH clients log in as when running as root; default "git". */
  sshUser?: string;
  /** Path of the OpenSSH server binary; default /usr/sbin/sshd. */
  sshdPath?: string;
  /** Reject a second deploy key with the same title on one repository (422); default true. */
  uniqueKeyTitles?: boolean;
  /** Called for every request no route serves; default prints one line on stderr. */
  onUnhandled?: (entry: RequestLogEntry) => void;
  /** Diagnostics (user creation, sshd start); default stderr. */
  log?: (line: string) => void;
}

/** One API request as the double saw it. */
export interface RequestLogEntry {
  method: string;
  /** Path without the query string, e.g. /api/v3/repos/acme/fleet-infra/keys. */
  path: string;
  /** Raw query string without "?" ("" when none). */
  query: string;
  status: number;
  /** False when no route matched (the call is not implemented by the double). */
  handled: boolean;
  /** The matched route pattern, e.g. /api/v3/repos/:owner/:repo/keys/:id. */
  route?: string;
  /** Milliseconds from the request arriving to the response sent (fastify's elapsedTime). */
  ms: number;
}

/** A deploy key as the double reports it out of band. */
export interface DeployKey {
  id: number;
  key: string;
  title: string;
  readOnly: boolean;
  createdAt: string;
}

/** A running GitHub double. */
export interface GitHubDouble {
  /** `http://127.0.0.1:PORT/`: give this to the provider as `baseUrl` (it appends `api/v3/`). */
  readonly baseUrl: string;
  /** `http://127.0.0.1:PORT/api/v3` (no trailing slash), for direct calls. */
  readonly apiUrl: string;
  readonly port: number;
  /** SSH port, or 0 when started with `ssh: false`. */
  readonly sshPort: number;
  /** The account in SSH URLs ("git" when running as root). */
  readonly sshUser: string;
  /** known_hosts line(s) for the private sshd: `[127.0.0.1]:PORT ssh-ed25519 AAAA...`. */
  readonly knownHosts: string;
  readonly dataDir: string;
  /** The organization name. */
  readonly owner: string;
  /** Every API request so far, oldest first (live array; may be truncated by the caller). */
  readonly requests: RequestLogEntry[];
  /** `ssh://git@127.0.0.1:PORT/owner/repo`. */
  sshUrl(owner: string, repo: string): string;
  /** Absolute path of the bare repository. */
  repoPath(owner: string, repo: string): string;
  /** True when the repository exists. */
  hasRepo(owner: string, repo: string): boolean;
  /** Creates a repository with one initial commit (README.md) on `defaultBranch`. */
  createRepo(owner: string, name: string, defaultBranch?: string, opts?: CreateRepoOptions): Promise<void>;
  /** Creates `branch` at `from` (branch or sha; default: the default branch); returns its sha. */
  createBranch(owner: string, repo: string, branch: string, from?: string): Promise<string>;
  /** The sha a branch points at, or undefined. */
  branchSha(owner: string, repo: string, branch: string): Promise<string | undefined>;
  /** A file's bytes at `ref` (default: the default branch), or undefined when absent. */
  readFile(owner: string, repo: string, filePath: string, ref?: string): Promise<Buffer | undefined>;
  /** Runs git against the bare repository as its owning user; returns stdout. */
  git(owner: string, repo: string, args: readonly string[]): Promise<string>;
  /** Deploy keys of a repository. */
  listKeys(owner: string, repo: string): DeployKey[];
  /** Adds a deploy key out of band (no HTTP call is logged). */
  addKey(owner: string, repo: string, key: { key: string; title: string; readOnly: boolean }): Promise<DeployKey>;
  /** Deletes a deploy key out of band, simulating drift; false when it did not exist. */
  deleteKey(owner: string, repo: string, id: number): Promise<boolean>;
  /** Makes the next `n` API calls answer `status` (default 502) with a JSON message. */
  failNext(n: number, status?: number): void;
  /** Stops sshd and the HTTP server. */
  close(): Promise<void>;
}

/** Options for {@link GitHubDouble.createRepo}. */
export interface CreateRepoOptions {
  /** Default true. */
  private?: boolean;
  /** Create the initial README commit (like GitHub's auto_init); default true. false leaves it empty. */
  autoInit?: boolean;
}
