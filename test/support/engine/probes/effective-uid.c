/*
 * The setuid probe: prints the real and effective user ids it runs with, e.g.
 * "uid=65534 euid=0" when an unprivileged user ran a setuid-root copy of it. Built static
 * (gcc -static) so that the same binary runs inside a container and on the host.
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
  return 0;
}
