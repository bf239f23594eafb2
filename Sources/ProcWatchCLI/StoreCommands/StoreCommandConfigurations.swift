import ArgumentParser

/// What `procwatch --help`, `procwatch record --help` and `procwatch report --help` say of the
/// commands that run in `procwatch-store`: one text for the forwarder and the real command.
package enum StoreCommandConfigurations {
    package static let record = CommandConfiguration(
        commandName: "record",
        abstract: "Record every event, every process and the job of a command into an SQLite file.",
        discussion: """
            Writes the events (the JSON contract's fields as columns, lost events included), \
            one row per process (command lines, uid changes, lifetime, exit status, CPU, memory \
            and I/O from taskstats as root) and, with a command, its tree as a job. The file \
            is in WAL mode and committed at least every 10 ms while events arrive, so kill -9 \
            loses at most the events of the last 10 to 20 ms. Without a command: the whole host until \
            Ctrl-C, SIGTERM or -D. With one: its tree, until it exits (procwatch then exits \
            with its status). The live view's -e, --pid, --tree, --comm, --user and -D \
            select and stop; --source chooses where events come from. Read it back with \
            `procwatch report` or sqlite3.

            Examples:
              procwatch record -o host.db -D 3600
              procwatch record -o build.db -- make -j2
              procwatch record -o failures.db -e nonzeroexit
            """)

    package static let report = CommandConfiguration(
        commandName: "report",
        abstract: "Summarize a recording: processes, failures, lost events, the process tree, top commands, a timeline.",
        discussion: """
            Reads a file written by `procwatch record` (one still being written, or cut short \
            by kill -9, reads too, and says which). Text by default; --json gives the same as \
            one document; --pid PID, --tree PID and --comm REGEX select processes of the \
            recording (a selection that matches nothing says so, exit status 1); --recording N \
            or --last picks one of several recordings appended to the file; --svg and --html \
            write a timeline (one bar per process, nested under its parent, labelled by program \
            and its most telling argument, coloured by program, failed exits in red; the HTML \
            page zooms).

            With --from postgresql://… (instead of FILE) it reports over the fleet store \
            (see `procwatch hosts`): --host NAME (repeated, or a comma list) chooses hosts, \
            --since/--until take 3h, 2d, today, yesterday or a UTC time; process listings \
            name each process's host when they span several (`host` in JSON). A store that \
            cannot be read is one line and exit status 64, as a file that cannot be.

            Examples:
              procwatch report build.db
              procwatch report build.db --svg timeline.svg --html timeline.html
              procwatch report host.db --since 2026-11-23T03:00Z --comm '^cc1$'
              procwatch report host.db --tree 1234 --json
              procwatch report run.db --last
              procwatch report --from postgresql://db.example/fleet --host web1,web2
            """)

    package static let daemon = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run always on: record every event into a history, serve live views over a Unix socket, export metrics.",
        discussion: """
            Holds one kernel subscription, records every event and process into the SQLite \
            history under the state directory (pruned by age and size), serves `procwatch \
            --connect` clients over a Unix socket (each user sees their own processes; root \
            and the configured group see all), and exposes Prometheus metrics on a loopback \
            address. Runs in the foreground; SIGTERM or SIGINT stop it (final commit, kernel \
            subscription released), SIGHUP reloads the configuration file. The live \
            view's --source and -e (or --events) choose the source and the kinds recorded. \
            Settings come from /etc/procwatch/daemon.yaml when it exists (or --config), \
            flags override them; a bad one is one line and exit status 64.

            Examples:
              procwatch daemon
              procwatch daemon --source connector -e fork,exec,exit --keep 7d
              procwatch daemon --config /etc/procwatch/daemon.yaml
              procwatch daemon --state-dir /tmp/pw --socket /tmp/pw.sock --metrics 127.0.0.1:9464
            """)

    package static let history = CommandConfiguration(
        commandName: "history",
        abstract: "What ran on this host: one line per process from the daemon's history.",
        discussion: """
            Reads the daemon's history, <state-dir>/history.db (default /var/lib/procwatch; \
            read access to the file is enough, and it reads while the daemon writes), or any \
            store file `procwatch record` wrote (--file). One line per process, oldest first: \
            start (UTC), user, pid, lifetime, CPU (user + system, as root: taskstats), exit \
            (exit 0, exit 3, killed by SIGKILL, SIGSEGV (core dumped), running, or unknown \
            when its recording ended first) and the whole command line, shell-quoted where \
            needed. --since and --until select by start: 3h, 90m, 2d (ago), today, yesterday \
            (midnight UTC), or a UTC time (2026-11-23, '2026-11-23 03:00', an RFC 3339 \
            timestamp); --until is exclusive, so --since yesterday --until today is \
            yesterday. --user NAME|UID, --comm REGEX (name or program), --failed (non-zero \
            exits, signal deaths, failed execs), --limit N (the newest N) narrow it; --json \
            writes one object per process. Nothing matching is one line and exit status 1.

            With --from postgresql://… it reads the fleet store instead (see `procwatch \
            hosts`): every host's processes by start, with a HOST column (`host` in JSON) \
            and uids as numbers (names are each machine's own); --host NAME (repeated, or a \
            comma list; a machine id or its first 8+ digits too) narrows it to some hosts.

            Examples:
              procwatch history --since 3h
              procwatch history --since yesterday --until today --failed
              procwatch history --user alice --comm '^ssh$' --json
              procwatch history --file build.db --limit 20
            """)

    package static let hosts = CommandConfiguration(
        commandName: "hosts",
        abstract: "The machines of the fleet store: one line per host, with how far behind its history is.",
        discussion: """
            Reads the fleet store, the PostgreSQL database procwatch daemons write many \
            hosts' history into (--from, else the PROCWATCH_FLEET environment variable; a \
            password is never taken from the command line: PGPASSWORD, ~/.pgpass or a \
            pg_service.conf service). One line per host, by name: its name, machine id (the \
            first 12 digits, which --host accepts), kernel, procwatch version, the time of its \
            newest event, the lag (now minus that: 42s, 3m05s, 2h07m, 4d03h) and when it \
            last wrote. --json writes one object per host (the whole machine id, lag_s). A \
            store that cannot be read is one line and exit status 1.

            Examples:
              procwatch hosts --from postgresql://db.example/fleet?sslmode=verify-full
              procwatch hosts --from 'postgresql://?service=fleet' --json
              procwatch hosts
            """)
}
