// The Integrations Center: an admin configures Stripe against a local
// fake that answers as Stripe documents GET /v1/balance (the balance for
// the right secret key, its 401 error for any other), tests the
// connection, disables it, and finds the call in the integration log. The
// page of the configuration is saved for the README.
import http from "node:http";
import { AddressInfo } from "node:net";
import { accessible, expect, LOGINS, signIn, test } from "./fixtures";

const KEY = "sk_test_51BrowserSuiteKey0000000004242";

/** Stripe's balance endpoint, as its API reference documents it. */
function fakeStripe(): Promise<{ url: string; calls: string[]; close: () => void }> {
  const calls: string[] = [];
  const server = http.createServer((request, response) => {
    calls.push(`${request.method} ${request.url}`);
    response.setHeader("content-type", "application/json");
    if (request.method === "GET" && request.url === "/v1/balance" && request.headers.authorization === `Bearer ${KEY}`) {
      response.end(JSON.stringify({
        object: "balance", livemode: false,
        available: [{ amount: 0, currency: "kes", source_types: { card: 0 } }],
        pending: [{ amount: 0, currency: "kes", source_types: { card: 0 } }],
      }));
      return;
    }
    response.statusCode = 401;
    response.end(JSON.stringify({ error: { message: "Invalid API Key provided", type: "invalid_request_error" } }));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, calls, close: () => server.close() });
    });
  });
}

test("an admin configures Stripe, tests the connection, disables it and finds the call in the log", async ({ page }) => {
  const stripe = await fakeStripe();
  await signIn(page, LOGINS.admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Integrations", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Integrations" })).toBeVisible();
  await accessible(page);
  await page.screenshot({ path: "../../docs/screenshots/integrations-center.png", fullPage: true });

  await page.getByRole("link", { name: /Payment Providers/ }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Payment Providers" })).toBeVisible();
  await accessible(page);
  await page.getByRole("link", { name: "Stripe", exact: false }).first().click();
  await expect(page.getByRole("link", { name: "https://docs.stripe.com/api" })).toBeVisible();
  await accessible(page);
  await page.getByRole("link", { name: "Configure", exact: true }).click();
  await accessible(page);

  await page.getByLabel("Name", { exact: true }).fill("Stripe (browser fake)");
  await page.getByLabel("Environment").selectOption("sandbox");
  await page.getByLabel("Secret key").fill(KEY);
  await expect(page.getByLabel("Secret key")).toHaveAttribute("type", "password");
  await page.getByLabel("Webhook signing secret").fill("whsec_browser000000000000000000000000");
  await page.getByLabel("API base URL").fill(stripe.url);
  await page.getByRole("button", { name: "Save configuration" }).click();
  await expect(page.locator(".flash")).toContainText("Configuration saved");
  await expect(page.getByText(KEY)).toHaveCount(0);
  await expect(page.getByText("sk_test_…4242")).toBeVisible();
  await expect(page.locator("#webhook-url")).toContainText("/api/v1/webhooks/stripe");
  await accessible(page);

  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.locator(".flash")).toContainText("Connection successful");
  expect(stripe.calls).toContain("GET /v1/balance");
  await page.screenshot({ path: "../../docs/screenshots/integrations-config.png", fullPage: true });

  await page.getByRole("button", { name: "Disable" }).click();
  await expect(page.locator(".flash")).toContainText("Disabled");
  await expect(page.getByRole("button", { name: "Enable" })).toBeVisible();

  await page.goto("/integrations/logs");
  await page.getByLabel("Provider").selectOption("stripe");
  await page.getByLabel("Result").selectOption("succeeded");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("cell", { name: "balance.retrieve" }).first()).toBeVisible();
  await accessible(page);
  await page.goto("/integrations/webhooks");
  await expect(page.getByRole("heading", { level: 1, name: "Webhook deliveries" })).toBeVisible();
  await accessible(page);
  stripe.close();
});
