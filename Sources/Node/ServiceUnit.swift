import Foundation

/// The systemd user unit, one source for `contrib/potluck-user.service` (which is
/// `user(execStart: "%h/.local/bin/potluck node")`, checked by a test) and `potluck service install`.
public enum ServiceUnit {
    public static func user(execStart: String) -> String {
        #"""
# Potluck node for one user: lends this machine's idle share, borrows when asked.
# Install with `potluck service install`, or by hand as the user after `swift build -c release`:
#   install -Dm755 .build/release/potluck ~/.local/bin/potluck
#   potluck init
#   install -Dm644 contrib/potluck-user.service ~/.config/systemd/user/potluck.service
#   systemctl --user daemon-reload && systemctl --user enable --now potluck
#   loginctl enable-linger "$USER"    # keep lending while logged out
# The node tells systemd when it answers (Type=notify) and stops cleanly on SIGTERM.
[Unit]
Description=Potluck node (lend and borrow idle compute)
Documentation=https://github.com/potluck-compute/potluck/blob/main/README.md
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=\#(execStart)
Restart=on-failure
RestartSec=5s
TimeoutStopSec=30s
# Lending uses spare cycles only: the machine's owner always comes first.
Nice=10
IOSchedulingClass=idle
NoNewPrivileges=yes
# The node gets its own cgroup to give each native task a group of its own: the task's
# processes together stay within its memory, cores and process count (spec 0019 §2.3).
Delegate=yes

[Install]
WantedBy=default.target

"""#
    }

    /// `EXECUTABLE node --data-dir DIR`, each quoted for a unit's command line.
    public static func commandLine(executable: String, dataDirectory: String) -> String {
        "\(quoted(executable)) node --data-dir \(quoted(dataDirectory))"
    }

    /// `text` as one argument of a unit's command line (systemd.service(5), "Command lines"):
    /// quoted when it holds a space or a quote; `%` and `$` doubled so systemd takes them as is.
    static func quoted(_ text: String) -> String {
        guard text.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0 == "%" || $0 == "$" }) else { return text }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "%", with: "%%").replacingOccurrences(of: "$", with: "$$")
        return "\"" + escaped + "\""
    }
}
