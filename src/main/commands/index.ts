import type { CliCommand } from "../command.ts";
import { chaos } from "./chaos.ts";
import { config } from "./config.ts";
import { demo } from "./demo.ts";
import { exportCommand } from "./export.ts";
import { importJsonl } from "./import-jsonl.ts";
import { migrate } from "./migrate.ts";
import { start, web, worker } from "./processes.ts";
import { retry } from "./retry.ts";
import { sandbox } from "./sandbox.ts";
import { spec } from "./spec.ts";
import { status } from "./status.ts";
import { stream } from "./stream.ts";
import { token } from "./token.ts";
import { worktree } from "./worktree.ts";

/** Every `drover` command, in the order `drover help` lists them. */
export const COMMANDS: readonly CliCommand[] = [
  start,
  web,
  worker,
  migrate,
  status,
  stream,
  retry,
  importJsonl,
  exportCommand,
  spec,
  token,
  config,
  worktree,
  sandbox,
  demo,
  chaos,
];
