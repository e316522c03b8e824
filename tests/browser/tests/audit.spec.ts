// The auditor's desk in the demo's history: the stream filtered to
// policies, one policy's versions and what changed between them, the flow
// an event belongs to, and the integrity check; every page accessible.
import { accessible, expect, LOGINS, signIn, test } from "./fixtures";

test("an auditor reads a policy's history, moves through its versions, follows its flow and verifies integrity", async ({ page }) => {
  await signIn(page, LOGINS.auditor);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Audit" })).toBeVisible();
  await page.getByLabel("Aggregate type").selectOption("Policy");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/aggregate_type=Policy/);
  await accessible(page);

  // A policy: now, at its first version, and what changed since.
  await page.getByRole("main").locator("tbody a[href^='/audit/Policy/']").first().click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Policy");
  await expect(page.getByText("(as it is now)")).toBeVisible();
  const events = Number((await page.getByText(/It has \d+ events?/).textContent())!.match(/It has (\d+)/)![1]);
  await page.getByLabel("Version", { exact: true }).fill("1");
  await page.getByRole("button", { name: "Show state" }).click();
  await expect(page.getByText(`At version 1 of ${events}`)).toBeVisible();
  await expect(page.locator("pre").first()).toContainText('"status": "submitted"');
  await accessible(page);
  await page.getByLabel("From version").fill("0");
  await page.getByLabel("To version").fill(String(events));
  await page.getByRole("button", { name: "Compare" }).click();
  await expect(page.getByRole("table").first()).toContainText("status");
  await accessible(page);

  // The flow of its first event, across aggregates.
  await page.getByRole("link", { name: /^Flow / }).first().click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Flow");
  await expect(page.getByText("Application submitted").first()).toBeVisible();
  await accessible(page);

  // The integrity check, run when asked.
  await page.goto("/audit/verify");
  await expect(page.getByText("Integrity verified")).toHaveCount(0);
  await page.getByRole("button", { name: "Verify integrity" }).click();
  await expect(page.getByRole("heading", { name: "Integrity verified" })).toBeVisible();
  await accessible(page);
});
