// The GitHub double as the lab's clients use it: the part of its interface a
// stack and Flux's files need (GitHubApi), whether the double runs in this
// process (startDouble) or in another one, reached over its API
// (connectDouble: the demo's, started by lab/demo.sh).
import * as path from "node:path";
import { GitHubDouble, startGitHubDouble } from "../github/server";

export type { GitHubDouble };

/** What a lab stack and Flux's files need of the double; a double in this process has it all. */
export type GitHubApi = Pick<GitHubDouble,
  "baseUrl" | "apiUrl" | "owner" | "sshPort" | "knownHosts" | "branchSha" | "readFile" | "createBranch">;

/** A public key as GitHub compares keys: `<type> <base64>`, without its comment or line break. */
export function keyBody(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(" ");
}

/** The organisation every lab double serves. */
export const OWNER = "acme";

/**
 * A double in this process, its data in `dir`/github, owned by {@link OWNER},
 * with `repos` created (default branch main), each with its extra branches.
 */
export async function startDouble(dir: string, token: string, repos: Record<string, readonly string[]>,
  options: { log?: (line: string) => void } = {}): Promise<GitHubDouble> {
  const double = await startGitHubDouble({ dataDir: path.join(dir, "github"), token, owner: OWNER, ...options });
  for (const [repo, branches] of Object.entries(repos)) {
    await double.createRepo(OWNER, repo, "main");
    for (const branch of branches) await double.createBranch(OWNER, repo, branch);
  }
  return double;
}

/** The connection details lab/github/main.ts writes to `<data-dir>/connection.json`. */
export interface Connection { baseUrl: string; apiUrl: string; owner: string; sshPort: number; knownHosts: string }

/** A double running in its own process (lab/github/main.ts), over HTTP. */
export function connectDouble(c: Connection, token: string): GitHubApi {
  const api = async (p: string, init?: RequestInit) => {
    const res = await fetch(`${c.apiUrl}${p}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const branchSha = async (owner: string, repo: string, branch: string) => {
    const r = await api(`/repos/${owner}/${repo}/branches/${branch}`);
    return r.status === 200 ? (r.json.commit as { sha: string }).sha : undefined;
  };
  return {
    baseUrl: c.baseUrl, apiUrl: c.apiUrl, owner: c.owner, sshPort: c.sshPort, knownHosts: c.knownHosts,
    branchSha,
    async readFile(owner, repo, file, ref) {
      const r = await api(`/repos/${owner}/${repo}/contents/${file}${ref ? `?ref=${ref}` : ""}`);
      return r.status === 200 ? Buffer.from(r.json.content as string, "base64") : undefined;
    },
    async createBranch(owner, repo, branch, from = "main") {
      const sha = await branchSha(owner, repo, from);
      const r = await api(`/repos/${owner}/${repo}/git/refs`, { method: "POST", body: JSON.stringify({ ref: `refs/heads/${branch}`, sha }) });
      if (r.status !== 201) throw new Error(`create branch ${branch}: ${r.status} ${JSON.stringify(r.json)}`);
      return sha!;
    },
  };
}
