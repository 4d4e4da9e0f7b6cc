/// Reciprocity receipts and offers (issue 5): see `spec/0011-records.md` once written.
enum RecordsPlaceholder {}
