import { loadRepoConfig } from "../src/config/load.ts";
import { CONFIG_PATH } from "../src/config/schema.ts";
import { getDelivery, markDeliveryProcessed } from "../src/db/deliveries.ts";
import { upsertRepository } from "../src/db/repositories.ts";
import { reply } from "../src/github/comments.ts";
import { authorise } from "../src/github/people.ts";
import { renderConfigProblems, renderRefusal } from "../src/github/render.ts";
import { repoRef } from "../src/github/types.ts";
import { IssueLabeled } from "../src/intake/payloads.ts";
import { PermanentJobError } from "../src/queue/queue.ts";
import type { JobDeps } from "./deps.ts";
import { requestSchedule } from "../src/scheduler/request.ts";
import { showAndTrigger, startStory } from "./trigger-task.ts";
import { withIssueLock } from "../src/db/issue-lock.ts";
import { issueFromPayload, syncIssue, syncIssueJob } from "./sync-issue.ts";
import { warmForTasks } from "./warm-pool/triggers.ts";

/**
 * A label was added to an issue by a person. If it is the repository's Drover label and they may start
 * work, the issue becomes a ready task, says so on the issue, and is scheduled. This job is the label's
 * one sync (intake queues no other): the issue and its labels are taken from the payload, and only its
 * links are read, and only those it says it has.
 */
export async function startTask(deps: JobDeps, payload: { deliveryId: string }): Promise<void> {
  const delivery = await getDelivery(deps.db, payload.deliveryId);
  if (!delivery) throw new PermanentJobError(`delivery ${payload.deliveryId} is not recorded`);
  if (delivery.processedAt) return;
  const event = IssueLabeled.parse(delivery.payload);
  const done = (outcome: string) => markDeliveryProcessed(deps.db, delivery.id, outcome);
  const target = {
    installationId: event.installation.id,
    repoFullName: event.repository.full_name,
    number: event.issue.number,
  };
  /** Any other label, or a start refused: the label is still news for an issue in the graph (priority). */
  const recordLabel = () => syncIssueJob(deps, { ...target, links: false, deliveryId: delivery.id });
  if (delivery.appliedAt) {
    // An earlier run recorded the task and stopped before it finished: only what follows is left.
    await requestSchedule(deps);
    return done("applied before");
  }
  const log = deps.log.child({
    deliveryId: delivery.id,
    repo: event.repository.full_name,
    issue: event.issue.number,
  });

  // 1. Which label starts Drover here, and is the config sound?
  const repo = repoRef(event.repository.full_name);
  const octokit = await deps.github.installation(event.installation.id);
  const config = await loadRepoConfig(octokit, repo);
  const label = config.ok ? config.config.label : config.label;
  if (event.label.name !== label) {
    await recordLabel();
    return done("not the drover label");
  }
  if (event.issue.state !== "open") {
    await recordLabel();
    return done("issue is closed");
  }

  // 2. Only people with write access start work; bots never do.
  const access = await authorise(octokit, repo, event.sender);
  if (!access.allowed) {
    log.info({ sender: event.sender.login, reason: access.reason }, "start refused");
    await recordLabel();
    await reply(
      octokit,
      repo,
      event.issue.number,
      renderRefusal({ login: event.sender.login, label, ...access }),
    );
    return done(`refused: ${access.reason}`);
  }
  if (!config.ok) {
    log.info({ problems: config.problems.length }, "start refused: invalid config");
    await recordLabel();
    await reply(octokit, repo, event.issue.number, renderConfigProblems(config.problems, CONFIG_PATH));
    return done("refused: invalid config");
  }

  // 3. Its place in the graph: the issue from the payload, its links read (under the issue's lock, which
  // link webhooks applied meanwhile wait for). The trigger below is told so and reads nothing again.
  const shown = issueFromPayload(delivery.payload);
  // GitHub's copy of the issue carries the label just added; one that does not is given it.
  const issue =
    shown && !shown.labels.includes(label) ? { ...shown, labels: [...shown.labels, label] } : shown;
  await withIssueLock(deps.db, event.repository.id, event.issue.number, () =>
    syncIssue(deps, { ...target, links: true, ...(issue ? { issue } : {}) }),
  );

  // 4. Record it and say so, one job per issue at a time.
  const repository = await upsertRepository(deps.db, {
    id: event.repository.id,
    installationId: event.installation.id,
    fullName: event.repository.full_name,
    cloneUrl: event.repository.clone_url,
    defaultBranch: event.repository.default_branch,
  });
  const trigger = await showAndTrigger(deps, {
    installationId: event.installation.id,
    repoFullName: event.repository.full_name,
    repoId: repository.id,
    octokit,
    config: config.config,
    issue: { number: event.issue.number, title: event.issue.title, author: event.issue.user },
    by: event.sender.login,
    cause: "label",
    claim: { deliveryId: delivery.id },
    known: { synced: true },
  });
  // The same delivery run twice at once: the other run applied it.
  if (trigger.kind === "applied-before") return;
  // Already in progress (started by another delivery, perhaps at this very moment): its status stands.
  if (trigger.kind === "already-active") return done(`already ${trigger.task.state}`);
  await startStory(deps, {
    installationId: event.installation.id,
    repoFullName: event.repository.full_name,
    repoId: repository.id,
    octokit,
    config: config.config,
    parent: event.issue.number,
    by: event.sender.login,
  });
  await requestSchedule(deps);
  // The repository's mirror and pool made ready in the background (a no-op when they are).
  await warmForTasks(deps, repository.id);
  log.info({ taskId: trigger.task.id, kind: trigger.kind }, "task started");
  await done(trigger.kind);
}
