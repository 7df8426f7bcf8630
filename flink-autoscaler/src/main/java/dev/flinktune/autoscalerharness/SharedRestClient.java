package dev.flinktune.autoscalerharness;

import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.highavailability.nonha.standalone.StandaloneClientHAServices;

/**
 * One REST client for the whole run. The autoscaler closes every client it asks for after use
 * (the standalone builds a new one per call, each with its own Netty event loop); sharing one
 * keeps a lockstep cycle in milliseconds. {@link #shutdown} closes it for real.
 */
final class SharedRestClient extends RestClusterClient<String> {
    SharedRestClient(Configuration conf, String address) throws Exception {
        super(conf, "clusterId", (c, e) -> new StandaloneClientHAServices(address));
    }

    @Override
    public void close() {
        // Shared: closed once by shutdown().
    }

    void shutdown() {
        super.close();
    }
}
