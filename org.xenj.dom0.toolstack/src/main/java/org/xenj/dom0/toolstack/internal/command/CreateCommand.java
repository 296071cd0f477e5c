package org.xenj.dom0.toolstack.internal.command;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.FileCompleter;
import org.apache.karaf.shell.api.action.Completion;
import org.xenj.dom0.toolstack.internal.xlcfg.XlConfigLoader;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.DomainConfig;

@Service
@Command(scope = "xen", name = "create", description = "Creates a domain from an xl.cfg file (xl create)",
        detailedDescription = "xen:create <file> [key=value ...]: each key=value overrides the file, as with xl. "
                + "Without a file, the key=value pairs alone make the configuration.")
public class CreateCommand extends XenCommand {

    @Option(name = "-p", description = "Leave the domain paused after creating it")
    boolean paused;

    @Option(name = "-c", description = "Attach to the domain's console after creating it")
    boolean console;

    @Option(name = "-n", aliases = "--dry-run", description = "Parse and check the configuration, print it as JSON, create nothing")
    boolean dryRun;

    @Option(name = "--pool", description = "Add the domain to the pool's registry and run it under a pool lease on the host the pool's placement policy chooses (with -p: add it, stopped)")
    boolean pool;

    @Argument(index = 0, name = "file", description = "xl.cfg file")
    @Completion(FileCompleter.class)
    String file;

    @Argument(index = 1, name = "key=value", description = "Overrides of the file's settings", multiValued = true)
    List<String> overrides;

    @Reference(optional = true)
    Session session;

    @Override
    protected void run() throws Exception {
        DomainConfig config = parse();
        for (String note : diskNotes()) {
            out().println("note: " + note);
        }
        if (paused) {
            config = config.toBuilder().startPaused(true).build();
        }
        if (dryRun) {
            out().println(Json.write(DomainViews.config(config)));
            return;
        }
        if (pool) {
            PoolView.addAndStart(PoolView.pool(), config.toBuilder().startPaused(false).build(), !paused, out());
            return;
        }
        Domain d = hypervisor.create(config);
        out().println("Created domain " + d.name() + " (id " + d.id() + ")");
        if (console) {
            new ConsoleCommand.Attach(hypervisor, d, session, out()).run();
        }
    }

    DomainConfig parse() {
        List<String> rest = overrides == null ? new ArrayList<>() : new ArrayList<>(overrides);
        if (file == null) {
            throw new IllegalArgumentException("usage: xen:create <file> [key=value ...]");
        }
        if (file.contains("=") && !Files.exists(resolve(file))) {
            rest.add(0, file);
            return XlConfigLoader.fromOverrides(rest);
        }
        return XlConfigLoader.load(resolve(file), rest);
    }

    /** Notes on the disk specs of the configuration {@link #parse()} accepted. */
    List<String> diskNotes() {
        List<String> rest = overrides == null ? new ArrayList<>() : new ArrayList<>(overrides);
        if (file.contains("=") && !Files.exists(resolve(file))) {
            rest.add(0, file);
            return XlConfigLoader.diskNotes(XlConfigLoader.overrideSettings(rest));
        }
        return XlConfigLoader.diskNotes(XlConfigLoader.readSettings(resolve(file), rest));
    }

    /** Relative to the shell's current directory, like every Karaf command that takes a file. */
    private Path resolve(String name) {
        Path p = Path.of(name);
        if (!p.isAbsolute() && session != null && session.currentDir() != null) {
            return session.currentDir().resolve(p);
        }
        return p;
    }
}
