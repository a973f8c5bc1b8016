import { loadRepoConfig } from "../src/config/load.ts";
import { CONFIG_PATH } from "../src/config/schema.ts";
import { getDelivery } from "../src/db/deliveries.ts";
import { CONFIG_CHECK_NAME, createCheckRun } from "../src/github/checks.ts";
import { configCheckRun } from "../src/github/config-check.ts";
import { repoRef } from "../src/github/types.ts";
import { PushEvent } from "../src/intake/payloads.ts";
import { configChange } from "../src/intake/route.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";

/**
 * A push that changed `.github/drover.yml`: the file at the pushed commit is read as the app reads it when
 * a task starts (`_extends` included) and the verdict is a `Drover config` check run on that commit, with
 * the messages an issue would get. One check run per commit: a retried job finds the one it made. The
 * follow-base job reads the same delivery and marks it processed; this one does not look at that mark.
 */
export async function configCheck(deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  const push = PushEvent.parse(delivery.payload);
  const repo = repoRef(push.repository.full_name);
  const octokit = await deps.github.installation(push.installation.id);
  const result = configChange(push) === "removed" ? null : await loadRepoConfig(octokit, repo, push.after);
  const check = configCheckRun(result, CONFIG_PATH);
  await createCheckRun(octokit, repo, { ...check, name: CONFIG_CHECK_NAME, headSha: push.after });
  deps.log.info(
    { repo: push.repository.full_name, sha: push.after, conclusion: check.conclusion },
    "drover.yml checked",
  );
}
