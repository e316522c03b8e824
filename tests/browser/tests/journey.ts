// The whole day in the console, as CONSOLE.md names it: a new customer
// signs up, gets a quote, applies; staff approve; the customer pays by the
// sandbox and sees the policy active; files a claim with a photo, which
// staff take to payout. Run with JavaScript on and off.
import { Browser, Page } from "@playwright/test";
import { accessible as check, businessToday, expect, LOGINS, newEmail, PASSWORD, PHOTO, signIn, watch } from "./fixtures";

/** Until `check` passes, following the page's own Refresh link without
 * JavaScript (with it, htmx updates the page by itself). */
async function waitFor(page: Page, javascript: boolean, text: string) {
  if (javascript) {
    await expect(page.getByText(text)).toBeVisible({ timeout: 30_000 });
    return;
  }
  for (let i = 0; i < 60; i++) {
    if ((await page.getByText(text).count()) > 0) return;
    await page.waitForTimeout(500);
    await page.getByRole("link", { name: "Refresh" }).click();
  }
  throw new Error(`never saw ${text}`);
}

/** The flash message after a command. */
function flash(page: Page, text: string | RegExp) {
  return expect(page.locator(".flash")).toContainText(text);
}

export async function journey(browser: Browser, baseURL: string, javascript: boolean) {
  // axe runs in the page: with JavaScript off there is nothing to run it
  // (the same pages are checked with it on).
  const accessible = javascript ? check : async (_: Page) => {};
  const origin = new URL(baseURL).origin;
  const customerContext = await browser.newContext({ baseURL, javaScriptEnabled: javascript });
  const staffContext = await browser.newContext({ baseURL, javaScriptEnabled: javascript });
  const leaks = [...[customerContext, staffContext].map((c) => watch(c, origin))];
  const customer = await customerContext.newPage();
  const staff = await staffContext.newPage();

  // Sign up.
  const email = newEmail(javascript ? "amina" : "otieno");
  await customer.goto("/register");
  await accessible(customer);
  await customer.getByLabel("Full name").fill("Amina Wafula");
  await customer.getByLabel("Email").fill(email);
  await customer.getByLabel("Phone number").fill("0712345678");
  await customer.getByLabel("Password").fill(PASSWORD);
  await customer.getByRole("button", { name: "Create account" }).click();
  await expect(customer).toHaveURL(/\/dashboard$/);

  // A quote, then the application.
  await customer.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Products" }).click();
  await customer.getByRole("link", { name: "Motor Private Comprehensive" }).click();
  await customer.getByRole("button", { name: "Apply" }).click();
  await expect(customer).toHaveURL(/\/products\/[0-9a-f-]+\/apply/);
  await customer.getByLabel("Sum insured").fill("1,200,000");
  await customer.getByLabel("Registration").fill("KDJ 482M");
  await customer.getByRole("button", { name: "Get quote" }).click();
  await expect(customer.getByText("Quoted premium: KES 48,000.00")).toBeVisible();
  await accessible(customer);
  await customer.getByRole("button", { name: "Submit application" }).click();
  await expect(customer).toHaveURL(/\/applications\/[0-9a-f-]+$/);
  await flash(customer, "Application submitted");
  const application = customer.url().split("/").pop()!;

  // Staff approve it.
  await signIn(staff, LOGINS.staff);
  await staff.goto(`/applications/${application}`);
  await accessible(staff);
  await staff.getByRole("button", { name: "Approve" }).click();
  await expect(staff).toHaveURL(new RegExp(`/policies/${application}$`));
  await flash(staff, "Application approved");

  // The customer pays by the sandbox.
  await customer.goto(`/policies/${application}`);
  await customer.getByRole("main").locator("a[href^='/invoices/']").first().click();
  await customer.getByRole("button", { name: "Pay" }).click();
  await customer.getByLabel("Provider").selectOption("sandbox");
  await accessible(customer);
  await customer.getByRole("button", { name: "Pay now" }).click();
  await expect(customer).toHaveURL(/\/payments\/[0-9a-f-]+$/);
  await waitFor(customer, javascript, "Payment received");
  await accessible(customer);
  await customer.goto(`/policies/${application}`);
  await expect(customer.locator(".facts .status-active")).toBeVisible();

  // A claim with a photo.
  await customer.getByRole("button", { name: "File a claim" }).click();
  await customer.getByLabel("Incident date").fill(businessToday());
  await customer.getByLabel("Description").fill("Side mirror broken in a car park on Moi Avenue");
  await customer.getByLabel("Claimed amount").fill("18000");
  await accessible(customer);
  await customer.getByRole("button", { name: "Submit claim" }).click();
  await flash(customer, "Claim submitted");
  const claim = customer.url().split("/").pop()!;
  await customer.getByLabel("Document").setInputFiles({ name: "mirror.png", mimeType: "image/png", buffer: PHOTO });
  await customer.getByRole("button", { name: "Upload" }).click();
  await flash(customer, "Document uploaded");
  await expect(customer.getByRole("link", { name: "mirror.png" })).toBeVisible();

  // Staff take it to payout.
  await staff.goto("/claims");
  await staff.getByLabel("Status").selectOption("submitted");
  if (!javascript) await staff.getByRole("button", { name: "Filter" }).click();
  await expect(staff.getByRole("link", { name: /CLM-/ }).first()).toBeVisible();
  await staff.goto(`/claims/${claim}`);
  await accessible(staff);
  await staff.getByRole("button", { name: "Assign to me" }).click();
  await flash(staff, "Claim assigned to you");
  await staff.getByLabel("Note").fill("Photo matches the description");
  await staff.getByRole("button", { name: "Add note" }).click();
  await flash(staff, "Note added");
  await staff.getByLabel("Approved amount").fill("15000");
  await staff.getByRole("button", { name: "Approve", exact: true }).click();
  await flash(staff, "Claim approved");
  await staff.getByRole("button", { name: "Pay out" }).click();
  await flash(staff, /Payout requested/);

  await customer.goto(`/claims/${claim}`);
  for (let i = 0; i < 60 && (await customer.locator(".facts .status-paid").count()) === 0; i++) {
    await customer.waitForTimeout(500);
    await customer.reload();
  }
  await expect(customer.locator(".facts .status-paid")).toBeVisible();
  await expect(customer.getByText("KES 15,000.00").first()).toBeVisible();
  await accessible(customer);

  for (const leak of leaks) expect(leak, "requests that left the origin").toEqual([]);
  await customerContext.close();
  await staffContext.close();
}
