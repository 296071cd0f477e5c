package org.xenj.dom0.toolstack.internal.command;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.FileCompleter;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "restore", description = "Creates a domain from a saved image (xl restore)",
        detailedDescription = "xen:restore <file> [key=value ...] [-p]: name=, pool=, cpus=, cpu_weight=, cap= and device keys "
                + "override the saved configuration; memory, vcpus and type are the image's. A damaged image or one of another "
                + "format version is refused and nothing is created.")
public class RestoreCommand extends XenCommand {

    @Option(name = "-p", description = "Leave the restored domain paused")
    boolean paused;

    @Argument(index = 0, name = "file", description = "The image xen:save wrote", required = true)
    @Completion(FileCompleter.class)
    String file;

    @Argument(index = 1, name = "key=value", description = "Overrides of the saved configuration", multiValued = true)
    List<String> overrides;

    @Reference(optional = true)
    Session session;

    @Override
    protected void run() {
        Map<String, String> kv = new LinkedHashMap<>();
        if (overrides != null) {
            for (String o : overrides) {
                int eq = o.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("'" + o + "' is not key=value (usage: xen:restore <file> [key=value ...] [-p])");
                }
                kv.put(o.substring(0, eq).trim(), o.substring(eq + 1).trim());
            }
        }
        Domain d = hypervisor.restore(SaveCommand.Files.resolve(session, file), kv, paused);
        out().println("Restored domain " + d.name() + " (id " + d.id() + ")" + (paused ? ", paused" : ""));
    }
}
