/// Vivaldi coordinates (issue 7).
enum CoordinatesPlaceholder {}
