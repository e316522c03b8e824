// What every browser test shares: the demo's logins, signing in, the
// accessibility check (axe-core, WCAG 2.1 A and AA), and a watch on every
// request, so that a page that reaches another origin fails its test.
import AxeBuilder from "@axe-core/playwright";
import { BrowserContext, test as base, expect, Page } from "@playwright/test";

export const PASSWORD = "ifinsure-demo-2026";
export const LOGINS = {
  customer: "customer@example.com",
  agent: "agent@example.com",
  staff: "staff@example.com",
  admin: "admin@example.com",
  auditor: "auditor@example.com",
} as const;
export type Role = keyof typeof LOGINS;

/** The navigation each role gets (CONSOLE.md). */
export const NAV: Record<Role, string[]> = {
  customer: ["Dashboard", "Products", "Applications", "Policies", "Claims", "Invoices", "Notifications", "Profile"],
  agent: ["Dashboard", "Products", "Applications", "Policies", "Claims", "Invoices", "Customers", "Reports", "Notifications", "Profile"],
  staff: ["Dashboard", "Products", "Applications", "Policies", "Claims", "Invoices", "Customers", "Reports", "Notifications", "Profile"],
  admin: ["Dashboard", "Products", "Applications", "Policies", "Claims", "Invoices", "Customers", "Reports", "Integrations", "Settings", "Users", "Audit", "Notifications", "Profile"],
  auditor: ["Dashboard", "Products", "Applications", "Policies", "Claims", "Invoices", "Customers", "Reports", "Audit", "Profile"],
};

/** The pages built so far (every one in the navigation). */
export const BUILT = ["Dashboard", "Products", "Applications", "Policies", "Claims", "Invoices", "Customers", "Reports", "Integrations", "Settings", "Users", "Audit", "Notifications", "Profile"];

/** Records every request of `context` that leaves `origin`. */
export function watch(context: BrowserContext, origin: string): string[] {
  const elsewhere: string[] = [];
  context.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol.startsWith("http") && url.origin !== origin) elsewhere.push(request.url());
  });
  return elsewhere;
}

export const test = base.extend<{ sameOrigin: void }>({
  sameOrigin: [
    async ({ context, baseURL }, use) => {
      const elsewhere = watch(context, new URL(baseURL!).origin);
      await use();
      expect(elsewhere, "requests that left the origin").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/** Signs in on /login and lands on the dashboard. */
export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
}

/** No WCAG 2.1 A or AA violation on the page as it is. */
export async function accessible(page: Page) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const found = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(found, `axe on ${page.url()}`).toEqual([]);
}

/** The demo's business day: East Africa Time (BUSINESS_UTC_OFFSET_MINUTES
 * 180), which is a day ahead of UTC after 21:00 UTC. */
export function businessToday() {
  return new Date(Date.now() + 180 * 60_000).toISOString().slice(0, 10);
}

/** A fresh email address for a new account. */
export function newEmail(who: string) {
  return `${who}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** A PNG photo, small. */
export const PHOTO = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082",
  "hex",
);
