// `npm run worker`: queue workers only (scale these out; they share PostgreSQL and Redis). Wiring only.
import {
  appCredentials,
  createLogger,
  environment,
  exit,
  loadDotEnv,
  onShutdown,
  openServices,
  startWorkers,
} from "./boot.ts";
import { startTracing } from "../lib/telemetry.ts";
import { startHousekeeping } from "../scheduler/housekeeping.ts";

loadDotEnv();
// First, so every span is recorded: on only when the OTEL_* variables ask for traces.
const tracing = await startTracing();
const env = environment();
const log = createLogger();
const credentials = appCredentials(env) ?? exit("APP_ID and PRIVATE_KEY are required to run workers.");
const services = await openServices(env, log);
const worker = await startWorkers(services, credentials);
const housekeeping = startHousekeeping({ db: services.database.db, env, log });
onShutdown(log, [housekeeping.stop, worker.close, services.close, async () => tracing?.shutdown()]);
