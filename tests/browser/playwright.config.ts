// The console in a real browser: Debian's Chromium (Playwright cannot
// download one here), against the demo (`cargo run --release -- demo`,
// started on its own port and a fresh temporary database unless BASE_URL
// names a running service).
import { defineConfig } from "@playwright/test";

const port = process.env.CONSOLE_PORT ?? "8123";
const baseURL = process.env.BASE_URL ?? `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL,
    viewport: { width: 1440, height: 900 },
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
      ],
    },
  },
  webServer: process.env.BASE_URL
    ? undefined
    : {
        command: "cargo run --release --quiet -- demo",
        cwd: "../..",
        // Ready once the demo has seeded its book (it answers before).
        wait: { stdout: /Press Ctrl-C to stop/ },
        timeout: 1_800_000,
        reuseExistingServer: false,
        stdout: "pipe",
        stderr: "pipe",
        gracefulShutdown: { signal: "SIGINT", timeout: 20_000 },
        env: {
          LISTEN_ADDR: `127.0.0.1:${port}`,
          PUBLIC_BASE_URL: baseURL,
          DATABASE_URL: "",
          RUST_LOG: "warn",
        },
      },
});
