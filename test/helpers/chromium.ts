/**
 * Opens a page in Debian's headless Chromium (never a downloaded browser) through playwright-core
 * and collects what a person would notice: console errors, uncaught exceptions and any request
 * leaving the file. The browser runs with a new, empty profile and without background networking.
 */
import * as path from "node:path";
import { Browser, chromium, Page } from "playwright-core";
import { CHROMIUM } from "./tools";

/**
 * The launch flags of a quiet, throwaway Chromium. Playwright adds `--headless` and a new, empty
 * `--user-data-dir` of its own (removed when the browser closes); it refuses a profile passed here.
 */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** A page opened in Chromium, with what it reported. */
export interface OpenedPage {
  readonly page: Page;
  /** Console messages of type error, and uncaught exceptions. */
  readonly errors: string[];
  /** Every URL the page asked for other than the file itself. */
  readonly requests: string[];
}

/** A running Chromium; `close` it in `after`. */
export class HeadlessChromium {
  private constructor(private readonly browser: Browser) {}

  static async launch(): Promise<HeadlessChromium> {
    return new HeadlessChromium(await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 }));
  }

  /** Opens a local file at a fixed viewport and waits until it has loaded. */
  async open(file: string, viewport = { width: 1200, height: 900 }): Promise<OpenedPage> {
    const page = await this.browser.newPage({ viewport, deviceScaleFactor: 1 });
    const errors: string[] = [];
    const requests: string[] = [];
    const url = `file://${path.resolve(file)}`;
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`exception: ${e.message}`));
    page.on("request", (r) => {
      if (r.url() !== url) requests.push(r.url());
    });
    await page.goto(url, { waitUntil: "load", timeout: 30_000 });
    return { page, errors, requests };
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}
