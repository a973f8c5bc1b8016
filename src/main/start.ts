// `npm start`: web and worker in one process. Wiring only.
import { run } from "probot";
import {
  appCredentials,
  createLogger,
  environment,
  exit,
  loadDotEnv,
  onShutdown,
  openServices,
  startWeb,
  startWorkers,
} from "./boot.ts";
import { startTracing } from "../lib/telemetry.ts";
import { startHousekeeping } from "../scheduler/housekeeping.ts";

const REGISTER_FIRST =
  "APP_ID and PRIVATE_KEY are not set, and NODE_ENV=production shows no setup page. Register the GitHub " +
  "App first: run `npm start` where NODE_ENV is not production and follow the page it shows, then give " +
  "this deployment the APP_ID, PRIVATE_KEY and WEBHOOK_SECRET it wrote to .env.";

loadDotEnv();
// First, so every span is recorded: on only when the OTEL_* variables ask for traces.
const tracing = await startTracing();
const env = environment();
const log = createLogger();
const credentials = appCredentials(env);
if (!credentials) {
  // Probot serves no setup page in production (anyone reaching it could register an app into this
  // .env); it would throw a stack trace instead of saying what to do.
  if (process.env.NODE_ENV === "production") exit(REGISTER_FIRST);
  // No app yet: Probot serves the "register a GitHub App" page built from app.yml.
  await run(() => {});
} else {
  const services = await openServices(env, log);
  const web = await startWeb(services, credentials);
  const worker = await startWorkers(services, credentials);
  const housekeeping = startHousekeeping({ db: services.database.db, env, log });
  onShutdown(log, [
    () => web.stop(),
    housekeeping.stop,
    worker.close,
    services.close,
    async () => tracing?.shutdown(),
  ]);
}
