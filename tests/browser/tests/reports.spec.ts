// A staff member opens each report: a chart drawn by the server (or, for a
// period with nothing in it, a sentence saying so) with its figures in a
// table, and a CSV download of the same rows. The premium report is saved
// for the README.
import { accessible, expect, LOGINS, signIn, test } from "./fixtures";

const REPORTS = [
  ["policies", "Premium report"],
  ["claims", "Claims and loss ratio"],
  ["revenue", "Collections"],
  ["commissions", "Commissions"],
  ["ageing", "Overdue ageing"],
];

test("staff read every report as a chart and a table and download its CSV", async ({ page }) => {
  await signIn(page, LOGINS.staff);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reports", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Reports" })).toBeVisible();
  await accessible(page);
  for (const [name, title] of REPORTS) {
    await page.goto(`/reports/${name}`);
    await expect(page.getByRole("heading", { level: 1, name: title })).toBeVisible();
    const drawn = page.locator("figure svg.chart[role=img]");
    const none = page.getByText("No data to chart for this period.");
    await expect(drawn.or(none)).toBeVisible();
    await expect(page.getByRole("table")).toBeVisible();
    await accessible(page);
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download CSV" }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`${name}-report.csv`);
  }
  // The demo's year of business, by month: premium written and earned.
  await page.goto("/reports/policies");
  await page.getByLabel("Group by").selectOption("month");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.locator("figure svg.chart")).toBeVisible();
  await page.screenshot({ path: "../../docs/screenshots/premium-report.png", fullPage: true });
  // A period with nothing in it says so.
  await page.getByLabel("From").fill("2001-01-01");
  await page.getByLabel("To").fill("2001-12-31");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.getByText("No data to chart for this period.")).toBeVisible();
});
