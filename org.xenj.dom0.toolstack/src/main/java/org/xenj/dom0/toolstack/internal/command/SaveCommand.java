package org.xenj.dom0.toolstack.internal.command;

import java.nio.file.Path;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.FileCompleter;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.SaveInfo;

@Service
@Command(scope = "xen", name = "save", description = "Saves a domain to a file and destroys it (xl save)",
        detailedDescription = "xen:save <domain> <file> [-p]: pauses the domain, writes its memory and device state, then "
                + "destroys it; -p leaves it paused instead. A failed save leaves no file and the domain as it was.")
public class SaveCommand extends XenCommand {

    @Option(name = "-p", description = "Leave the domain paused after saving instead of destroying it")
    boolean leavePaused;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "file", description = "The image to write", required = true)
    @Completion(FileCompleter.class)
    String file;

    @Reference(optional = true)
    Session session;

    @Override
    protected void run() {
        Domain d = domain(domain);
        SaveInfo info = hypervisor.save(d.id(), Files.resolve(session, file), leavePaused);
        out().printf("Saved domain %s (id %d) to %s: %d bytes, %d pages + %d zero pages, paused %.1f ms%s%n", d.name(), d.id(),
                info.file(), info.bytes(), info.pages(), info.zeroPages(), info.pausedNanos() / 1e6,
                info.destroyed() ? "; domain destroyed" : "; domain left paused");
    }

    /** Relative to the shell's current directory, like every Karaf command that takes a file. */
    static final class Files {
        private Files() {
        }

        static Path resolve(Session session, String name) {
            Path p = Path.of(name);
            if (!p.isAbsolute() && session != null && session.currentDir() != null) {
                return session.currentDir().resolve(p);
            }
            return p.toAbsolutePath();
        }
    }
}
