// An admin opens an account, changes its role on the user's page, and
// deactivates it: the person, signed in elsewhere, is signed out at once
// and told why when signing in again.
import { accessible, expect, LOGINS, newEmail, PASSWORD, signIn, test } from "./fixtures";

test("an admin creates a user and deactivates them, who is then signed out", async ({ browser, page }) => {
  await signIn(page, LOGINS.admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  await accessible(page);
  await page.getByRole("button", { name: "New user" }).click();
  const email = newEmail("agent");
  await page.getByLabel("Full name").fill("Otieno Ouma");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Role").selectOption("agent");
  await page.getByLabel("Password").fill(PASSWORD);
  await accessible(page);
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.locator(".flash")).toContainText(`can sign in as ${email}`);

  // The user's page: an agent made staff.
  await page.getByRole("row").filter({ hasText: email }).getByRole("link", { name: "Otieno Ouma" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Otieno Ouma" })).toBeVisible();
  await accessible(page);
  await page.getByLabel("Role").selectOption("staff");
  await page.getByRole("button", { name: "Change role" }).click();
  await expect(page.locator(".flash")).toContainText("Role changed: Otieno Ouma is now staff");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users", exact: true }).click();

  // They sign in, elsewhere.
  const theirs = await browser.newContext();
  const agent = await theirs.newPage();
  await signIn(agent, email);

  await page.getByLabel("Role").selectOption("staff");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByRole("button", { name: "Deactivate Otieno Ouma" }).first().click();
  await expect(page.locator(".flash")).toContainText("User deactivated");
  await accessible(page);

  await agent.goto("/dashboard");
  await expect(agent).toHaveURL(/\/login/);
  await agent.getByLabel("Email").fill(email);
  await agent.getByLabel("Password").fill(PASSWORD);
  await agent.getByRole("button", { name: "Sign in" }).click();
  await expect(agent.getByRole("alert")).toContainText("this account is deactivated");
  await theirs.close();
});
