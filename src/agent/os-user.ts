import { chown, lchown, lstat, readdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/**
 * Running agents as another operating-system user (DROVER_AGENT_USER). A process of the worker's own
 * user can read the worker's memory-backed secrets (/proc/<pid>/environ, the private key file); one of
 * another user cannot. The worker must be able to switch users (root, or CAP_SETUID and CAP_SETGID).
 */

export type AgentUser = { name: string; uid: number; gid: number };

export class AgentUserError extends Error {
  override name = "AgentUserError";
}

/** Resolves a user name or numeric `uid[:gid]`, refusing root and checking the worker may switch. */
export async function resolveAgentUser(spec: string): Promise<AgentUser> {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  let user: AgentUser;
  if (numeric) {
    const uid = Number(numeric[1]);
    user = { name: spec, uid, gid: numeric[2] === undefined ? uid : Number(numeric[2]) };
  } else {
    if (!/^[a-z_][a-z0-9_-]*\$?$/i.test(spec))
      throw new AgentUserError(`DROVER_AGENT_USER=${JSON.stringify(spec)} is not a user name or uid[:gid]`);
    const result = await execa("getent", ["passwd", spec], { reject: false, timeout: 5_000 });
    const fields = result.exitCode === 0 ? String(result.stdout).split(":") : [];
    if (fields.length < 4)
      throw new AgentUserError(
        `DROVER_AGENT_USER=${spec}: no such user on this machine (create it, e.g. useradd --system ${spec})`,
      );
    user = { name: spec, uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  if (user.uid === 0)
    throw new AgentUserError("DROVER_AGENT_USER must not be root: agents would see everything");
  if (process.getuid?.() === user.uid)
    throw new AgentUserError(`DROVER_AGENT_USER=${spec} is the worker's own user; name another user`);
  if (process.getuid?.() !== 0)
    throw new AgentUserError(
      `DROVER_AGENT_USER=${spec} needs the worker to run as root (or with CAP_SETUID and CAP_SETGID)`,
    );
  return user;
}

/** Gives a directory tree to `uid:gid` (symbolic links themselves, never what they point to). */
export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  const stack = [root];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    const info = await lstat(current);
    // chown would follow a symbolic link out of the tree; lchown changes the link itself.
    await (info.isSymbolicLink() ? lchown : chown)(current, uid, gid);
    if (info.isDirectory()) {
      for (const entry of await readdir(current)) stack.push(path.join(current, entry));
    }
  }
}
