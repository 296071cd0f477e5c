package org.xenj.dom0.toolstack.internal.command;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.xenj.dom0.blkback.api.BlockHotplug;
import org.xenj.dom0.blkback.api.VirtualDisk;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "block-detach", description = "Hot-unplugs a disk from a running domain (xl block-detach <dom> <vdev>)")
public class BlockDetachCommand extends XenCommand {

    @Reference
    BlockHotplug blocks;

    @Option(name = "-f", aliases = "--force", description = "Remove the disk even if the guest does not release it")
    boolean force;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "vdev", description = "The disk: its vdev (xvdb) or device number (51728)", required = true)
    String vdev;

    @Override
    protected void run() {
        Domain d = domain(domain);
        String name = vdev;
        if (vdev.chars().allMatch(Character::isDigit) && !vdev.isEmpty()) {
            name = blocks.list(d.id()).stream().filter(v -> Integer.toString(v.devid()).equals(vdev)).map(VirtualDisk::vdev)
                    .findFirst().orElseThrow(() -> new IllegalArgumentException(d.name() + " has no disk " + vdev));
        }
        blocks.detach(d.id(), name, force);
    }
}
