/** A rating's text by half-steps (rating × 2, 1…10), as the processed files and COPY write it. */
export const RATING_TEXT = ['', '0.5', '1.0', '1.5', '2.0', '2.5', '3.0', '3.5', '4.0', '4.5', '5.0'] as const;
