// Each role signs in, finds its navigation as CONSOLE.md gives it, and
// visits its pages: each in the layout, with one h1 and no accessibility
// violation; its dashboard is saved for the README.
import { accessible, expect, LOGINS, NAV, BUILT, Role, signIn, test } from "./fixtures";

for (const role of Object.keys(LOGINS) as Role[]) {
  test(`${role}: signs in, navigates, every page accessible`, async ({ page }) => {
    await signIn(page, LOGINS[role]);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link")).toHaveText(NAV[role]);
    await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
    await accessible(page);
    await page.screenshot({ path: `../../docs/screenshots/${role}-dashboard.png`, fullPage: true });

    for (const name of NAV[role].filter((n) => BUILT.includes(n))) {
      await nav.getByRole("link", { name, exact: true }).click();
      await expect(page.getByRole("main")).toBeVisible();
      await expect(page.getByRole("heading", { level: 1 })).toHaveCount(1);
      await accessible(page);
      // And the first record of each list, when there is one.
      const first = page.getByRole("main").locator("tbody a").first();
      if (name !== "Dashboard" && (await first.count()) > 0) {
        await first.click();
        await expect(page.getByRole("heading", { level: 1 })).toHaveCount(1);
        await accessible(page);
      }
    }
  });
}
