#!/usr/bin/env node
// The `drover` command: runs the TypeScript CLI through tsx (a runtime dependency).
import { register } from "tsx/esm/api";

register();
await import("../src/main/cli.ts");
