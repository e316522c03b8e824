import { test } from "./fixtures";
import { journey } from "./journey";

test("a new customer buys motor cover, pays by the sandbox, and is paid a claim", async ({ browser, baseURL }) => {
  await journey(browser, baseURL!, true);
});

test("the same journey with JavaScript off", async ({ browser, baseURL }) => {
  await journey(browser, baseURL!, false);
});
