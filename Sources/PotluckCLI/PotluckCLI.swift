/// Potluck command-line commands.
