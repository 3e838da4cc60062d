import { SegmentedMessage } from "sms-segments-calculator"

export interface SegmentPreview {
  readonly segments: number
  readonly encoding: "GSM-7" | "UCS-2"
  /** The characters that force UCS-2 (70 characters a segment instead of 160): replace them to save. */
  readonly nonGsmCharacters: ReadonlyArray<string>
}

/** Segments as Twilio bills them, by Twilio's own calculator. */
export const previewSegments = (body: string): SegmentPreview => {
  const message = new SegmentedMessage(body)
  return {
    segments: message.segmentsCount,
    encoding: message.encodingName === "UCS-2" ? "UCS-2" : "GSM-7",
    nonGsmCharacters: Array.from(new Set(message.getNonGsmCharacters()))
  }
}
