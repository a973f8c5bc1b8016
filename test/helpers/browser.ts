import { accessSync, constants } from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

/**
 * Debian's Chromium, found as CHROMIUM_PATH says or on the PATH (`chromium`, `chromium-browser`), so the
 * dashboard's test runs in a real browser without downloading one.
 */
export function chromiumPath(): string {
  const named = process.env.CHROMIUM_PATH;
  if (named) return named;
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const name of ["chromium", "chromium-browser"]) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not here: the next one.
      }
    }
  }
  throw new Error("no Chromium found: install Debian's chromium, or set CHROMIUM_PATH to its executable");
}

/** A headless Chromium; close it when done. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}
