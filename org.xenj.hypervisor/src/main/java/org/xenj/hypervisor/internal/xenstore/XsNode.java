package org.xenj.hypervisor.internal.xenstore;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** One xenstore node: value, permissions (first entry = owner and default), children, generation. */
final class XsNode {

    byte[] value = new byte[0];
    /** Permission strings as on the wire: a letter (r, w, b, n) followed by a domid. */
    List<String> perms;
    final Map<String, XsNode> children = new TreeMap<>();
    /** Store generation of the last change to this node (value, perms or list of children). */
    long gen;

    XsNode(List<String> perms, long gen) {
        this.perms = new ArrayList<>(perms);
        this.gen = gen;
    }

    int owner() {
        return Integer.parseInt(perms.get(0).substring(1));
    }

    /** What {@code domid} may do here: 'r', 'w', 'b' or 'n'. Dom0 and the owner may do everything. */
    char access(int domid) {
        if (domid == 0 || owner() == domid) {
            return 'b';
        }
        for (int i = 1; i < perms.size(); i++) {
            String p = perms.get(i);
            if (Integer.parseInt(p.substring(1)) == domid) {
                return p.charAt(0);
            }
        }
        return perms.get(0).charAt(0);
    }

    XsNode deepCopy() {
        XsNode n = new XsNode(perms, gen);
        n.value = value;
        for (Map.Entry<String, XsNode> e : children.entrySet()) {
            n.children.put(e.getKey(), e.getValue().deepCopy());
        }
        return n;
    }

    int count() {
        int n = 1;
        for (XsNode c : children.values()) {
            n += c.count();
        }
        return n;
    }
}
