/// Trust scores from receipts (issue 5).
enum TrustPlaceholder {}
