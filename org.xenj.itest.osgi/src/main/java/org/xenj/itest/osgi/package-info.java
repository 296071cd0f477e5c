/** In-OSGi tests (bnd-testing on Felix): run inside the framework by biz.aQute.tester.junit-platform. */
package org.xenj.itest.osgi;
