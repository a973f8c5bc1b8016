import os from "node:os";
import { z } from "zod";

/** An agent process a worker started, as its attempt records it (so a successor can stop it). */
export const SpawnedAgent = z.object({ host: z.string(), pid: z.number().int().positive() });
export type SpawnedAgent = z.infer<typeof SpawnedAgent>;

/**
 * After a crash, the agents a dead worker started may still be running on this machine (each leads its
 * own process group, so it outlived its parent): kills the groups of those started on this host, before
 * the attempt runs again. Returns the ones it stopped; those already gone, or on other hosts, are skipped.
 */
export function stopOrphans(spawned: readonly SpawnedAgent[], host: string = os.hostname()): SpawnedAgent[] {
  return spawned.filter((agent) => {
    if (agent.host !== host) return false;
    try {
      process.kill(-agent.pid, "SIGKILL");
      return true;
    } catch {
      return false; // already gone
    }
  });
}
