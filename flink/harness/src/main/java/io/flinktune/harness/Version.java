package io.flinktune.harness;

/** Prints the Flink version on the classpath (a smoke check of the resolved classpath). */
public final class Version {
    public static void main(String[] args) {
        System.out.println(org.apache.flink.runtime.util.EnvironmentInformation.getVersion());
    }
}
