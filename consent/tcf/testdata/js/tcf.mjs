// tcf.mjs cross-checks Garde's consent/tcf against the IAB's reference
// library, @iabtechlabtcf/core. It reads one JSON request on stdin:
//
//   {"decode": ["TC string", ...], "encode": [{...TCString JSON...}, ...]}
//
// and writes {"decoded": [...], "encoded": [...]} on stdout, one result per
// input, in order; a failed item is {"error": "message"}. Decoded items have
// the JSON shape of Go's tcf.TCString; encoded items are {"string": "..."}.
//
// TCString.encode in the IAB library needs a loaded Global Vendor List and
// rewrites the signal against it (SemanticPreEncoder). To compare bits, not
// vendor lists, this script calls the library's SegmentEncoder directly: the
// fields are encoded by the IAB's own code, the signal is the caller's.
import {
  Base64Url, PurposeRestriction, Segment, SegmentEncoder, TCModel, TCString,
} from '@iabtechlabtcf/core';

const ids = (vector) => {
  const out = [];
  vector.forEach((value, id) => { if (value) out.push(id); });
  return out;
};

// segmentTypes lists the optional segment types present in s.
const segmentTypes = (s) => s.split('.').slice(1).map((seg) =>
  parseInt(Base64Url.decode(seg.replace(/=+$/, '').charAt(0)).slice(0, 3), 2));

function decode(s) {
  const m = TCString.decode(s);
  const present = segmentTypes(s);
  const out = {
    version: m.version,
    created: m.created.toISOString(),
    lastUpdated: m.lastUpdated.toISOString(),
    cmpId: m.cmpId,
    cmpVersion: m.cmpVersion,
    consentScreen: m.consentScreen,
    consentLanguage: m.consentLanguage,
    vendorListVersion: m.vendorListVersion,
    policyVersion: m.policyVersion,
    isServiceSpecific: m.isServiceSpecific,
    useNonStandardTexts: m.useNonStandardTexts,
    specialFeatureOptins: ids(m.specialFeatureOptins),
    purposeConsents: ids(m.purposeConsents),
    purposeLegitimateInterests: ids(m.purposeLegitimateInterests),
    purposeOneTreatment: m.purposeOneTreatment,
    publisherCountryCode: m.publisherCountryCode,
    vendorConsents: ids(m.vendorConsents),
    vendorLegitimateInterests: ids(m.vendorLegitimateInterests),
    publisherRestrictions: m.publisherRestrictions.getRestrictions().map((r) => ({
      purposeId: r.purposeId,
      restrictionType: r.restrictionType,
      vendors: m.publisherRestrictions.getVendors(r),
    })),
  };
  if (present.includes(1)) out.vendorsDisclosed = ids(m.vendorsDisclosed);
  if (present.includes(2)) out.vendorsAllowed = ids(m.vendorsAllowed);
  if (present.includes(3)) {
    out.publisherTC = {
      publisherConsents: ids(m.publisherConsents),
      publisherLegitimateInterests: ids(m.publisherLegitimateInterests),
      numCustomPurposes: m.numCustomPurposes,
      publisherCustomConsents: ids(m.publisherCustomConsents),
      publisherCustomLegitimateInterests: ids(m.publisherCustomLegitimateInterests),
    };
  }
  return out;
}

function encode(t) {
  const m = new TCModel();
  m.version = t.version;
  m.created = new Date(t.created);
  m.lastUpdated = new Date(t.lastUpdated);
  m.cmpId = t.cmpId;
  m.cmpVersion = t.cmpVersion;
  m.consentScreen = t.consentScreen;
  m.consentLanguage = t.consentLanguage;
  m.vendorListVersion = t.vendorListVersion;
  m.policyVersion = t.policyVersion;
  m.isServiceSpecific = t.isServiceSpecific;
  m.useNonStandardTexts = t.useNonStandardTexts;
  m.specialFeatureOptins.set(t.specialFeatureOptins ?? []);
  m.purposeConsents.set(t.purposeConsents ?? []);
  m.purposeLegitimateInterests.set(t.purposeLegitimateInterests ?? []);
  m.purposeOneTreatment = t.purposeOneTreatment;
  m.publisherCountryCode = t.publisherCountryCode;
  m.vendorConsents.set(t.vendorConsents ?? []);
  m.vendorLegitimateInterests.set(t.vendorLegitimateInterests ?? []);
  let maxRestricted = 0;
  for (const r of t.publisherRestrictions ?? []) {
    for (const v of r.vendors ?? []) {
      m.publisherRestrictions.add(v, new PurposeRestriction(r.purposeId, r.restrictionType));
      maxRestricted = Math.max(maxRestricted, v);
    }
  }
  // The restriction encoder asks the GVL which vendor ids exist to build its
  // ranges; a stand-in where every id exists gives plain consecutive runs.
  m.publisherRestrictions.gvl = {
    vendorIds: new Set(Array.from({ length: maxRestricted }, (_, i) => i + 1)),
  };
  const segments = [Segment.CORE];
  if (t.vendorsDisclosed) {
    m.vendorsDisclosed.set(t.vendorsDisclosed);
    segments.push(Segment.VENDORS_DISCLOSED);
  }
  if (t.vendorsAllowed) {
    m.vendorsAllowed.set(t.vendorsAllowed);
    segments.push(Segment.VENDORS_ALLOWED);
  }
  if (t.publisherTC) {
    const p = t.publisherTC;
    m.publisherConsents.set(p.publisherConsents ?? []);
    m.publisherLegitimateInterests.set(p.publisherLegitimateInterests ?? []);
    m.numCustomPurposes = p.numCustomPurposes;
    m.publisherCustomConsents.set(p.publisherCustomConsents ?? []);
    m.publisherCustomLegitimateInterests.set(p.publisherCustomLegitimateInterests ?? []);
    segments.push(Segment.PUBLISHER_TC);
  }
  return { string: segments.map((seg) => SegmentEncoder.encode(m, seg)).join('.') };
}

const attempt = (f) => (x) => {
  try {
    return f(x);
  } catch (err) {
    return { error: String(err?.message ?? err) };
  }
};

let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
process.stdout.write(JSON.stringify({
  decoded: (req.decode ?? []).map(attempt(decode)),
  encoded: (req.encode ?? []).map(attempt(encode)),
}));
