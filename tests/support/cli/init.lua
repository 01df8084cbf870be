io.write("init file ran\n")
