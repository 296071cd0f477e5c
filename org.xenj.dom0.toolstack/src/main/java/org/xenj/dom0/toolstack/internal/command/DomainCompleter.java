package org.xenj.dom0.toolstack.internal.command;

import java.util.List;

import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.api.console.CommandLine;
import org.apache.karaf.shell.api.console.Completer;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.support.completers.StringsCompleter;
import org.xenj.hypervisor.api.Domain;
import org.xenj.hypervisor.api.Hypervisor;

/** Completes domain names. */
@Service
public class DomainCompleter implements Completer {

    @Reference
    Hypervisor hypervisor;

    @Override
    public int complete(Session session, CommandLine commandLine, List<String> candidates) {
        StringsCompleter names = new StringsCompleter();
        for (Domain d : hypervisor.list()) {
            names.getStrings().add(d.name());
        }
        return names.complete(session, commandLine, candidates);
    }
}
