import * as assert from "node:assert/strict";
import { Redactor, REDACTED, secretParts } from "../../../automation/notify/redact";

describe("notify secrets", () => {
  it("secretParts: the URL in every form, its path and query, and its long parts, longest first", () => {
    assert.deepEqual(secretParts("https://u:SECRETPASS123@hooks.example.com/services/T0SECRETAA/xy?key=QUERYSECRET99"), [
      "https%3A%2F%2Fu%3ASECRETPASS123%40hooks.example.com%2Fservices%2FT0SECRETAA%2Fxy%3Fkey%3DQUERYSECRET99",
      "https://u:SECRETPASS123@hooks.example.com/services/T0SECRETAA/xy?key=QUERYSECRET99",
      "%2Fservices%2FT0SECRETAA%2Fxy%3Fkey%3DQUERYSECRET99",
      "/services/T0SECRETAA/xy?key=QUERYSECRET99",
      "key%3DQUERYSECRET99",
      "key=QUERYSECRET99",
      "SECRETPASS123",
      "QUERYSECRET99",
      "T0SECRETAA",
      "services",
    ]);
  });

  it("Redactor replaces every part, the host stays", () => {
    const r = new Redactor(["https://hooks.example.com/services/T0SECRETAA/B0SECRETBB/xoxbSECRETTOKEN123"]);
    assert.equal(r.scrub("POST https://hooks.example.com/services/T0SECRETAA/B0SECRETBB/xoxbSECRETTOKEN123 failed; token xoxbSECRETTOKEN123"), `POST ${REDACTED} failed; token ${REDACTED}`);
    assert.equal(r.scrub("getaddrinfo ENOTFOUND hooks.example.com"), "getaddrinfo ENOTFOUND hooks.example.com");
  });
});
