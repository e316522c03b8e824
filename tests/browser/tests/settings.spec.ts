// An admin saves a brand name in Settings: a customer, signed in
// elsewhere, sees it in the header and in an invoice's PDF drawn after it;
// a colour that is not #rrggbb is refused beside its field. The brand is
// put back at the end (the other tests and screenshots use the demo's).
import { accessible, expect, LOGINS, signIn, test } from "./fixtures";

test("an admin saves the branding; a customer sees it in the header and a new invoice PDF", async ({ browser, page }) => {
  await signIn(page, LOGINS.admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "General settings" })).toBeVisible();
  await accessible(page);
  await page.getByRole("navigation", { name: "Settings sections" }).getByRole("link", { name: "Branding" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Branding" })).toBeVisible();
  await accessible(page);

  // A colour in words is refused beside its field; what was typed stays.
  await page.getByLabel("Brand name").fill("Bima Bora");
  await page.getByLabel("Primary colour").fill("blue");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("must be a colour as #rrggbb")).toBeVisible();
  await expect(page.getByLabel("Brand name")).toHaveValue("Bima Bora");
  await accessible(page);

  await page.getByLabel("Primary colour").fill("#7a1f5c");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.locator(".flash")).toContainText("Settings saved: branding");
  try {
    const theirs = await browser.newContext();
    const customer = await theirs.newPage();
    await signIn(customer, LOGINS.customer);
    await expect(customer.locator("header .brand")).toHaveText("Bima Bora");
    await accessible(customer);
    await customer.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Invoices", exact: true }).click();
    await customer.getByRole("main").locator("tbody a").first().click();
    await expect(customer.getByRole("button", { name: "Download invoice" })).toBeVisible();
    const pdf = await customer.request.get(`${new URL(customer.url()).pathname}/invoice.pdf`);
    expect(pdf.headers()["content-type"]).toBe("application/pdf");
    expect((await pdf.body()).toString("latin1")).toContain("Bima Bora");
    await theirs.close();
  } finally {
    // Put the demo's brand back, whatever happened.
    await page.goto("/settings/branding");
    await page.getByLabel("Brand name").fill("ifinsure");
    await page.getByLabel("Primary colour").fill("#0b5394");
    await page.getByRole("button", { name: "Save settings" }).click();
    await expect(page.locator(".flash")).toContainText("Settings saved: branding");
  }
});
