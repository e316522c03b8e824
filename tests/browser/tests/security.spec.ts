// From the other side: another customer's records, a form without its
// CSRF token, and a phone-sized screen.
import { accessible, expect, LOGINS, signIn, test } from "./fixtures";

test("another customer's record is the 404 page", async ({ page, browser, baseURL }) => {
  // The agent's customers' policies are not the demo customer's.
  const agent = await browser.newContext({ baseURL });
  const agentPage = await agent.newPage();
  await signIn(agentPage, LOGINS.agent);
  await agentPage.goto("/policies");
  const theirs = await agentPage.getByRole("main").locator("tbody a[href^='/policies/']").first().getAttribute("href");
  await agent.close();

  await signIn(page, LOGINS.customer);
  await page.goto("/policies");
  const mine = await page.getByRole("main").locator("tbody a[href^='/policies/']").allInnerTexts();
  expect(theirs).toBeTruthy();
  const response = await page.goto(theirs!);
  expect(response!.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  await accessible(page);
  expect(mine.length).toBeGreaterThan(0);
});

test("a form without its CSRF token is refused", async ({ page }) => {
  await signIn(page, LOGINS.customer);
  const response = await page.request.post("/profile", {
    form: { full_name: "Someone Else", phone_number: "" },
    maxRedirects: 0,
  });
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain("You may not do this");
  await page.goto("/profile");
  await expect(page.getByLabel("Full name")).toHaveValue("Wanjiru Kamau");
});

test("a 375 px screen: every page fits and stays accessible", async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await signIn(page, LOGINS.staff);
  for (const path of ["/dashboard", "/products", "/applications", "/policies", "/claims", "/invoices", "/customers", "/profile"]) {
    await page.goto(path);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${path} is wider than the screen`).toBeLessThanOrEqual(375);
    await accessible(page);
  }
  await page.goto("/dashboard");
  await page.screenshot({ path: "../../docs/screenshots/staff-dashboard-375.png", fullPage: true });
});
