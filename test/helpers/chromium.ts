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

/** What the report page's script recorded for one chart (`window.__report.charts`). */
export interface DrawnChart {
  readonly id: string;
  readonly series: string[];
  readonly points: number;
  readonly markersDrawn: number;
  readonly limitsDrawn: number;
  readonly empty: boolean;
}

/**
 * Counts a colour's pixels (±12 per channel, opaque) inside a chart's plot area, and in the rows
 * of a 3-pixel column around a time. Page code is passed as text: the test's TypeScript loader
 * adds helpers to compiled functions that do not exist in the page.
 */
const PIXELS_IN_PAGE = `(args) => {
  const u = window.__uplots[args.chart];
  const r = parseInt(args.color.slice(1, 3), 16), g = parseInt(args.color.slice(3, 5), 16), b = parseInt(args.color.slice(5, 7), 16);
  const left = Math.round(u.bbox.left), top = Math.round(u.bbox.top), width = Math.round(u.bbox.width), height = Math.round(u.bbox.height);
  const data = u.ctx.getImageData(left, top, width, height).data;
  const near = (i) => Math.abs(data[i] - r) <= 12 && Math.abs(data[i + 1] - g) <= 12 && Math.abs(data[i + 2] - b) <= 12 && data[i + 3] > 200;
  let total = 0;
  for (let i = 0; i < data.length; i += 4) if (near(i)) total++;
  let column = 0;
  if (args.atTime !== null) {
    const x = Math.round(u.valToPos(args.atTime, "x", true)) - left;
    for (let y = 0; y < height; y++) {
      if ([-1, 0, 1].some((dx) => near((y * width + x + dx) * 4))) column++;
    }
  }
  return { total, column, plotHeight: height };
}`;

/** Pixels of a colour in a chart's plot area; see {@link PIXELS_IN_PAGE}. */
export async function pixels(page: OpenedPage["page"], chart: string, color: string, atTime?: number): Promise<{ total: number; column: number; plotHeight: number }> {
  return page.evaluate(`(${PIXELS_IN_PAGE})(${JSON.stringify({ chart, color, atTime: atTime ?? null })})`) as Promise<{ total: number; column: number; plotHeight: number }>;
}

/** The page's `window.__report`. */
export async function drawn(page: OpenedPage["page"]): Promise<{ ready: boolean; charts: DrawnChart[] }> {
  return page.evaluate("window.__report") as Promise<{ ready: boolean; charts: DrawnChart[] }>;
}

/**
 * Waits (at most 20 s) for the page's script to finish drawing. Polled with `evaluate`:
 * `waitForFunction` compiles its predicate inside the page, which the report's
 * Content-Security-Policy (no eval) rightly refuses.
 */
export async function ready(page: OpenedPage["page"]): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await page.evaluate("Boolean(window.__report && window.__report.ready)")) !== true) {
    if (Date.now() > deadline) throw new Error("the report's charts were not drawn within 20 s (see the page's errors)");
    await new Promise((r) => setTimeout(r, 100));
  }
}
