import type { CliCommand } from "../command.ts";
import { exportCommand } from "./export.ts";
import { importJsonl } from "./import-jsonl.ts";
import { spec } from "./spec.ts";

/** The commands that live in modules of their own, in the order `drover help` lists them. */
export const COMMANDS: readonly CliCommand[] = [importJsonl, exportCommand, spec];
