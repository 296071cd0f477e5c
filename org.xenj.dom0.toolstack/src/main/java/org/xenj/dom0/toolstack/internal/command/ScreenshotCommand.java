package org.xenj.dom0.toolstack.internal.command;

import java.awt.image.BufferedImage;
import java.io.File;
import java.util.List;

import javax.imageio.ImageIO;

import org.apache.karaf.shell.api.action.Argument;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.Completion;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.completers.FileCompleter;
import org.xenj.dom0.vnc.api.Framebuffer;
import org.xenj.dom0.vnc.api.VncConsoles;
import org.xenj.hypervisor.api.Domain;

@Service
@Command(scope = "xen", name = "screenshot", description = "Writes a domain's current screen to a PNG file")
public class ScreenshotCommand extends XenCommand {

    @Reference(optional = true)
    List<VncConsoles> consoles;

    @Argument(index = 0, name = "domain", description = "Domain name or id", required = true)
    @Completion(DomainCompleter.class)
    String domain;

    @Argument(index = 1, name = "file", description = "PNG file to write", required = true)
    @Completion(FileCompleter.class)
    String file;

    @Override
    protected void run() throws Exception {
        Domain d = domain(domain);
        if (consoles == null || consoles.isEmpty()) {
            throw new IllegalStateException("the VNC consoles (feature xenj-vnc) are not running");
        }
        Framebuffer fb = consoles.get(0).screenshot(d.id())
                .orElseThrow(() -> new IllegalStateException(d.name() + " has no display (set vga=\"stdvga\" or vnc=1)"));
        BufferedImage img = new BufferedImage(fb.width(), fb.height(), BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, fb.width(), fb.height(), fb.pixels(), 0, fb.width());
        File f = new File(file);
        if (!ImageIO.write(img, "png", f)) {
            throw new IllegalStateException("no PNG writer in this JVM");
        }
        out().println(d.name() + ": " + fb.width() + "x" + fb.height() + " written to " + f.getAbsolutePath());
    }
}
